// `ping`: proves the agent runs on the host and answers. Changes nothing.
import { Type } from '@sinclair/typebox';
import { converged, defineModule } from './contract.js';

export const ping = defineModule({
  name: 'ping',
  schema: Type.Union([Type.Null(), Type.Object({ data: Type.Optional(Type.String({ description: 'Echoed back in the result.' })) }, { additionalProperties: false })], {
    description: 'Checks that the agent answers on the host.',
  }),
  async plan(params) {
    return converged({ ping: params && params.data !== undefined ? params.data : 'pong' });
  },
});
