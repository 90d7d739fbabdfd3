// X-Registry-Auth as the engine decodes it (Go's base64.URLEncoding: padding required). Whether
// padding is needed depends on the JSON's length, so every remainder mod 3 is tried.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { registryAuthHeader } from '../agent/docker/registry.js';

test('the header is padded base64url of the auth JSON, whatever its length', () => {
  for (const password of ['p', 'pa', 'pas', 'pass', 'passw']) {
    const a = { username: 'u', password, serveraddress: '10.0.0.1:5000' };
    const h = registryAuthHeader(a);
    assert.is(h.length % 4, 0, `padded for ${password}`);
    assert.not.match(h, /[+/]/, 'URL alphabet');
    assert.equal(JSON.parse(Buffer.from(h, 'base64url').toString()), a);
  }
});

test.run();
