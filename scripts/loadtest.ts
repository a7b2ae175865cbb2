/**
 * npm run loadtest -- [options]: seeds an event on a running stack, mints users' tokens, drives one of
 * the k6 scenarios (reserve | ticket-war | fairness) from Node, and prints throughput, latency,
 * statuses, thresholds and the fairness report. docs/loadtest.md lists every option.
 */
import { loadConfig } from '../core/config.ts';
import { parseLoadtestArgs } from './loadtest/options.ts';
import { runLoadtest, writeTokens } from './loadtest/run.ts';

const parsed = parseLoadtestArgs(process.argv.slice(2));
if (parsed.kind === 'help') {
  process.stdout.write(`${parsed.text}\n`);
} else if (parsed.kind === 'error') {
  process.stderr.write(`${parsed.message}\n(npm run loadtest -- --help lists the options)\n`);
  process.exitCode = 2;
} else {
  const { options } = parsed;
  const { jwtSecret } = loadConfig();
  try {
    if (options.writeTokensPath) await writeTokens(options, jwtSecret, options.writeTokensPath);
    else process.exitCode = await runLoadtest(options, jwtSecret);
  } catch (err) {
    process.stderr.write(`[loadtest] ${(err as Error).message}\n`);
    process.exitCode = 2;
  }
}
