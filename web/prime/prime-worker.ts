// Entry of the /load worker threads (piscina loads this file by name; nothing else may import it).
import { setPriority } from 'node:os';
import { checkPrime } from './check-prime';

// Lowest CPU priority for this thread only (on Linux, setpriority on pid 0 applies to the calling
// thread): the event loop answering /health and /users keeps winning the cores while /load burns them.
try {
  setPriority(19);
} catch {
  // Not permitted in some sandboxes; the pool still works at normal priority.
}

export default checkPrime;
