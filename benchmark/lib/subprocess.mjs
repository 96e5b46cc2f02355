// Child processes whose last stdout line is one JSON object: rss.mjs (W7) and py_w8.py (W8),
// and the CPython this machine has, if any.

import { execFile, execFileSync } from 'node:child_process';
import { errMsg } from './harness.mjs';

export function runNode(args, timeoutMs) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() || '';
      let j;
      try {
        j = JSON.parse(line);
      } catch {
        return reject(new Error(`${err ? errMsg(err) : 'no JSON output'}${stderr ? ': ' + stderr.trim().split('\n').pop() : ''}`));
      }
      if (j.error) return reject(new Error(j.error));
      resolve(j);
    });
  });
}
export function runPython(args, timeoutMs) {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, args, { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      try {
        const j = JSON.parse(stdout.trim().split('\n').pop());
        if (j.error) return reject(new Error(j.error));
        resolve(j);
      } catch {
        reject(new Error(`python failed: ${err ? errMsg(err) : ''} ${stderr.trim().split('\n').pop() || ''}`));
      }
    });
  });
}
export let PYTHON = null;
export let PYTHON_VERSION = null;
for (const cand of ['python3', 'python']) {
  try {
    const v = execFileSync(cand, ['-c', 'import sys, concurrent.futures; print(sys.version.split()[0])'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (v.startsWith('3.')) {
      PYTHON = cand;
      PYTHON_VERSION = v;
      break;
    }
  } catch {}
}
