// poolifier cluster (process) worker for W8.
import { ClusterWorker } from 'poolifier';
import { inc } from './tasks.mjs';

export default new ClusterWorker({ inc });
