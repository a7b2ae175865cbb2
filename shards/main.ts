import { runProcess } from '../core/run-process.ts';
import { startShard } from './shard.ts';

await runProcess('shard', startShard);
