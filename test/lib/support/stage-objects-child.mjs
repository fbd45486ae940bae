// Runs stage-objects-child.ts the way bin/netflow.mjs runs the CLI: tsx registered by the script.
import { register } from 'tsx/esm/api';

register();
await import('./stage-objects-child.ts');
