// The .proto files etcd3 reads at start-up, as text inside the agent bundle (esbuild's text
// loader, selected by the import attribute). Only the bundle can import this module: plain Node
// refuses `type: 'text'`, and outside the bundle etcd3 finds its files in node_modules itself.
import auth from 'etcd3/proto/auth.proto' with { type: 'text' };
import kv from 'etcd3/proto/kv.proto' with { type: 'text' };
import rpc from 'etcd3/proto/rpc.proto' with { type: 'text' };

export const protos: Record<string, string> = { 'auth.proto': auth, 'kv.proto': kv, 'rpc.proto': rpc };
