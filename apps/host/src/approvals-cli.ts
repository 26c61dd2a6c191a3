/**
 * `approvals-cli`: answer the host's approval queue at a terminal prompt.
 *
 *   HOST_URL=http://127.0.0.1:7600 HOST_UI_TOKEN=… node --conditions=source --import tsx apps/host/src/approvals-cli.ts
 */
import { runApprovalPrompt } from './approvals/prompt.js';

const hostUrl = process.env.HOST_URL ?? 'http://127.0.0.1:7600';
const uiToken = process.env.HOST_UI_TOKEN ?? '';
if (uiToken === '') {
  process.stderr.write('HOST_ERR_UI_AUTH: set HOST_UI_TOKEN to the host config uiToken\n');
  process.exit(2);
}
runApprovalPrompt({ hostUrl, uiToken, input: process.stdin, output: process.stdout }).then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  },
);
