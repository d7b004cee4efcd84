/**
 * One signature-verification thread of node/verify-pool.ts. Each message is
 * a job in shared memory; the thread claims chunks of it until none are left
 * (`workOn`, the same loop the calling thread runs), with the same fast
 * verifier, and replies {id, verified} with how many checks it did.
 * @module
 */
import { parentPort } from 'node:worker_threads';
import { fastVerifier } from '../platform/node/verify.js';
import { workOn, type SharedJob } from './verify-pool.js';

const verify = fastVerifier();

parentPort!.on('message', (job: SharedJob) => {
  parentPort!.postMessage({ id: job.id, verified: workOn(job, verify) });
});
