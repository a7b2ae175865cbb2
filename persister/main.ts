import { runProcess } from '../core/run-process.ts';
import { startPersister } from './persister.ts';

await runProcess('persister', startPersister);
