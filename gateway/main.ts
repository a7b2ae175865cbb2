import { runProcess } from '../core/run-process.ts';
import { startGateway } from './gateway.ts';

await runProcess('gateway', startGateway);
