// `ping`: proves the agent runs on the host and answers. Changes nothing.
import { converged, defineModule } from './contract.js';
import { pingSchema } from './params/ping.js';

export const ping = defineModule({
  name: 'ping',
  schema: pingSchema,
  async plan(params) {
    return converged({ ping: params && params.data !== undefined ? params.data : 'pong' });
  },
});
