// piscina side of the runtime benchmark: the same work function as its default export.
import { work } from './task.mjs';

export default work;
