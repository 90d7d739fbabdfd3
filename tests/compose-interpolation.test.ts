// Compose interpolation, case by case as docker/compose-go tests it (template/template_test.go,
// interpolation/interpolation_test.go, dotenv/godotenv_var_expansion_test.go, dotenv/parser.go),
// ported as tables. Pure functions, no files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { castFor } from '../controller/compose/casts.js';
import { parseEnvFile } from '../controller/compose/dotenv.js';
import { describeError, substitute, type Lookup } from '../controller/compose/interpolate.js';
import { composeVariables } from '../controller/compose/variables.js';

const mapOf = (m: Record<string, string>): Lookup => (name) => (Object.hasOwn(m, name) ? m[name] : undefined);
// compose-go's template tests.
const defaults = mapOf({ FOO: 'first', BAR: '', JSON: '{"json":2}' });

function value(template: string, lookup: Lookup = defaults): string {
  const r = substitute(template, lookup);
  if (!r.ok) throw new Error(`${template}: ${describeError(r.error)}`);
  return r.value;
}

function failure(template: string, lookup: Lookup = defaults): string {
  const r = substitute(template, lookup);
  if (r.ok) throw new Error(`${template}: expected an error, got ${JSON.stringify(r.value)}`);
  return describeError(r.error);
}

const cases: Array<[string, string]> = [
  // TestEscaped, TestSubstituteNoMatch, TestUnescaped
  ['$${foo}', '${foo}'],
  ['foo', 'foo'],
  ['a $ string', 'a $ string'],
  ['^REGEX$', '^REGEX$'],
  ['$}', '$}'],
  ['$', '$'],
  // TestNonBraced (docker/compose#8601)
  ['$FOO-bar', 'first-bar'],
  // TestNoValueNoDefault, TestValueNoDefault
  ['This ${missing} var', 'This  var'],
  ['This ${BAR} var', 'This  var'],
  ['This $FOO var', 'This first var'],
  ['This ${FOO} var', 'This first var'],
  // TestNoValueWithDefault, soft and hard defaults
  ['ok ${missing:-def}', 'ok def'],
  ['ok ${missing-def}', 'ok def'],
  ['ok ${BAR:-def}', 'ok def'],
  ['ok ${FOO:-def}', 'ok first'],
  ['ok ${BAR-def}', 'ok '],
  // presence: :+ and +
  ['ok ${UNSET_VAR:+presence_value}', 'ok '],
  ['ok ${UNSET_VAR+presence_value}', 'ok '],
  ['ok ${FOO:+presence_value}', 'ok presence_value'],
  ['ok ${FOO+presence_value}', 'ok presence_value'],
  ['ok ${BAR+presence_value}', 'ok presence_value'],
  ['ok ${BAR:+presence_value}', 'ok '],
  ['ok ${BAR:-/non:-alphanumeric}', 'ok /non:-alphanumeric'],
  // TestInterpolationExternalInterference
  ['-ok ${BAR:-defaultValue}', '-ok defaultValue'],
  ['+ok ${UNSET:-${BAR-defaultValue}}', '+ok '],
  ['-ok ${FOO:-defaultValue}', '-ok first'],
  [':-ok ${UNSET-defaultValue}', ':-ok defaultValue'],
  [':-ok ${BAR-defaultValue}', ':-ok '],
  [':?ok ${BAR-defaultValue}', ':?ok '],
  [':?ok ${BAR:-defaultValue}', ':?ok defaultValue'],
  [':+ok ${BAR:-defaultValue}', ':+ok defaultValue'],
  ['+ok ${BAR-defaultValue}', '+ok '],
  ['?ok ${BAR:-defaultValue}', '?ok defaultValue'],
  // TestDefaultsWithNestedExpansion
  ['ok ${UNSET_VAR-$FOO}', 'ok first'],
  ['ok ${UNSET_VAR-${FOO}}', 'ok first'],
  ['ok ${UNSET_VAR-${FOO} ${FOO}}', 'ok first first'],
  ['ok ${BAR:-$FOO}', 'ok first'],
  ['ok ${BAR:-${FOO}}', 'ok first'],
  ['ok ${BAR:-${FOO} ${FOO}}', 'ok first first'],
  ['ok ${BAR+$FOO}', 'ok first'],
  ['ok ${BAR+$FOO ${FOO:+second}}', 'ok first second'],
  // TestDefaultsForMandatoryVariables
  ['ok ${FOO:?err}', 'ok first'],
  ['ok ${FOO?err}', 'ok first'],
  ['ok ${BAR?err}', 'ok '],
  // TestPrecedence: the first operator after the name decides
  ['${UNSET_VAR-myerror?msg}', 'myerror?msg'],
  ['${FOO?bar-baz}', 'first'],
  ['${BAR:-default_value_for_empty_var}', 'default_value_for_empty_var'],
  ['${UNSET_VAR-default_value_for_unset_var}', 'default_value_for_unset_var'],
  // Defaults with braces (TestNoValueWithCurlyBracesDefault, TestValueWithCurlyBracesDefault)
  ['ok ${missing:-{"json":1}}', 'ok {"json":1}'],
  ['ok ${missing-{"json":1}}', 'ok {"json":1}'],
  ['ok ${JSON:-{"json":1}}', 'ok {"json":2}'],
  ['ok ${JSON-{"json":1}}', 'ok {"json":2}'],
  // TestSubstituteWithReplacementFunc's last case
  ['ok ${SUBDOMAIN:-redis}.${FOO:?}', 'ok redis.first'],
];

test(`${cases.length} substitutions from compose-go's template tests`, () => {
  for (const [template, expected] of cases) assert.is(value(template), expected, template);
});

test('invalid templates are errors, as in compose-go (TestInvalid)', () => {
  for (const template of ['${', '${}', '${ }', '${ foo}', '${foo }', '${foo!}', 'a ${', 'x ${FOO:-y']) {
    assert.match(failure(template), /^invalid interpolation/, template);
  }
});

test('required variables: the error names the variable and carries the message, interpolated (TestMandatoryVariableErrors)', () => {
  const table: Array<[string, string]> = [
    ['not ok ${UNSET_VAR:?Mandatory Variable Unset}', 'required variable UNSET_VAR is missing a value: Mandatory Variable Unset'],
    ['not ok ${BAR:?Mandatory Variable Empty}', 'required variable BAR is missing a value: Mandatory Variable Empty'],
    ['not ok ${UNSET_VAR:?}', 'required variable UNSET_VAR is missing a value'],
    ['not ok ${UNSET_VAR?Mandatory Variable Unset}', 'required variable UNSET_VAR is missing a value: Mandatory Variable Unset'],
    ['not ok ${UNSET_VAR?}', 'required variable UNSET_VAR is missing a value'],
    ['not ok ${UNSET_VAR:?Mandatory Variable ${FOO}}', 'required variable UNSET_VAR is missing a value: Mandatory Variable first'],
    ['not ok ${UNSET_VAR?Mandatory Variable ${FOO}}', 'required variable UNSET_VAR is missing a value: Mandatory Variable first'],
    ['${UNSET_VAR?bar-baz}', 'required variable UNSET_VAR is missing a value: bar-baz'],
  ];
  for (const [template, message] of table) assert.is(failure(template), message, template);
});

test('unset variables are reported only where a value is used (lazy defaults: TestLazyDefault*)', () => {
  const unset = (template: string, lookup: Lookup = defaults) => {
    const r = substitute(template, lookup);
    return r.ok ? r.unset : ['<error>'];
  };
  assert.equal(unset('${A:+${A},}B'), [], 'an unused alternative names nothing');
  assert.equal(unset('${A:-${B}}'), ['B'], 'the used default names its own unset variable; A has a default');
  assert.equal(unset('${A?${B}}', mapOf({ A: 'value' })), [], 'an unused error message is not interpolated');
  assert.equal(unset('$X ${X} ${Y-} ${FOO}'), ['X']);
});

test('interpolation_test.go: values of a Compose file with and without the variables', () => {
  const none = mapOf({});
  const someSet = mapOf({ USER: 'jenny', FOO: 'bar', count: '5', REQUIRED: 'true' });
  const unsetTable: Array<[string, string]> = [
    ['{{{ ${FOO:-foo_} }}}', '{{{ foo_ }}}'],
    ['{{{ ${FOO:-foo-bar-value} }}}', '{{{ foo-bar-value }}}'],
    ['{{{ ${FOO:-foo?bar?value} }}}', '{{{ foo?bar?value }}}'],
    ['{{{ ${FOO:-foo:?bar:?value} }}}', '{{{ foo:?bar:?value }}}'],
    ['{{{ ${FOO:-foo} ${BAR:-DEFAULT_VALUE} }}}', '{{{ foo DEFAULT_VALUE }}}'],
    ['{{{ ${BAR} }}}', '{{{  }}}'],
    ['${FOO:-baz} }}}', 'baz }}}'],
    ['${FOO-baz} }}}', 'baz }}}'],
    ['${FOO:-${BAR:-${ZOT:-qix}}}', 'qix'],
    ['${FOO:-${BAR:-x}_test_${BAR:-y}}', 'x_test_y'],
    ['${FOO:-${BAR:-x}_test}', 'x_test'],
    ['${FOO:-${BAR:-${ZOT:-x}}_test}', 'x_test'],
  ];
  for (const [t, expected] of unsetTable) assert.is(value(t, none), expected, t);
  const errorTable: Array<[string, string]> = [
    ['{{{ ${FOO:?foo_} }}}', 'foo_'],
    ['{{{ ${FOO:?foo-bar-value} }}}', 'foo-bar-value'],
    ['{{{ ${FOO:?foo} ${BAR:-DEFAULT_VALUE} }}}', 'foo'],
    ['${FOO:?foo} ${BAR:?bar}', 'foo'],
    ['${FOO:?baz} }}}', 'baz'],
    ['${FOO?baz} }}}', 'baz'],
  ];
  for (const [t, reason] of errorTable) assert.is(failure(t, none), `required variable FOO is missing a value: ${reason}`, t);
  const setTable: Array<[string, string]> = [
    ['{{{ ${FOO:-foo_} }}}', '{{{ bar }}}'],
    ['{{{ ${FOO:-foo} ${USER:-bar} }}}', '{{{ bar jenny }}}'],
    ['{{{ ${USER} }}}', '{{{ jenny }}}'],
    ['${FOO:-baz} }}}', 'bar }}}'],
    ['${FOO-baz} }}}', 'bar }}}'],
    ['example:${USER}', 'example:jenny'],
    ['$FOO:/target', 'bar:/target'],
  ];
  for (const [t, expected] of setTable) assert.is(value(t, someSet), expected, t);
});

test('a Compose value is not a berth template: {{ }} stays as written', () => {
  assert.is(value('{{ inventory_hostname }} $$(cat /run/secret) ${FOO}'), '{{ inventory_hostname }} $(cat /run/secret) first');
});

test('env files: quoting, comments, export, inherited keys and expansion (compose-go dotenv)', () => {
  const text = [
    '# comment',
    'export EXPORTED=yes',
    'PLAIN=value # trailing comment',
    'HASH=a#b',
    'SINGLE=\'literal ${FOO} \\n\'',
    'DOUBLE="line\\nnext \\"q\\" ${FOO}"',
    'DOLLAR="\\$FOO"',
    'YAML_STYLE: yes',
    'EMPTY=',
    'INHERITED',
    'MISSING_INHERITED',
    'REF=${PLAIN}-${FOO}',
    'MULTI="a',
    'b"',
    'DEFAULTED=${NOPE:-fallback}',
    'UNSET_USE=${NOPE}',
  ].join('\n');
  const r = parseEnvFile(text, mapOf({ FOO: 'first', INHERITED: 'from-env' }));
  if (!r.ok) throw new Error(r.problem.message);
  assert.equal(r.values, {
    EXPORTED: 'yes',
    PLAIN: 'value',
    HASH: 'a#b',
    SINGLE: 'literal ${FOO} \\n',
    DOUBLE: 'line\nnext "q" first',
    DOLLAR: '$FOO',
    YAML_STYLE: 'yes',
    EMPTY: '',
    INHERITED: 'from-env',
    REF: 'value-first',
    MULTI: 'a\nb',
    DEFAULTED: 'fallback',
    UNSET_USE: '',
  });
  assert.equal(r.unset, [{ name: 'NOPE', line: 16 }]);
  // The variables win over the file's own earlier lines, as in compose-go.
  const shadow = parseEnvFile('A=file\nB=${A}\n', mapOf({ A: 'env' }));
  assert.ok(shadow.ok && shadow.values.B === 'env');
});

test('env files: mistakes name their line', () => {
  const bad = (text: string) => {
    const r = parseEnvFile(text, mapOf({}));
    return r.ok ? 'ok' : `${r.problem.line}: ${r.problem.message}`;
  };
  assert.match(bad('A=1\nB C=2\n'), /^2: the name "B C" has a space in it/);
  assert.match(bad('A=1\nB!=2\n'), /^2: unexpected character "!"/);
  assert.match(bad('A=1\n\nB="open\nC=3\n'), /^3: unterminated quoted value/);
  assert.match(bad('A=${B:?need B}\n'), /^1: required variable B is missing a value: need B/);
});

test('where a variable comes from: the environment beats berth vars, which beat .env', () => {
  const v = composeVariables({ env: { TAG: 'from-env' }, vars: { TAG: 'from-vars', PORT: 8080, ONLY_VARS: 'v', TPL: '{{ x }}', LIST: [1] }, dotenv: { TAG: 'from-dotenv', PORT: '1', DOT: 'd' } });
  assert.is(v.lookup('TAG'), 'from-env');
  assert.is(v.lookup('PORT'), '8080');
  assert.is(v.lookup('ONLY_VARS'), 'v');
  assert.is(v.lookup('DOT'), 'd');
  assert.is(v.lookup('TPL'), undefined);
  assert.is(v.lookup('LIST'), undefined);
  assert.match(v.why('TPL') ?? '', /template/);
  assert.match(v.why('LIST') ?? '', /list/);
});

test('values of keys that take numbers or booleans are cast back by path, as compose-go does', () => {
  const cast = (path: Array<string | number>, text: string) => castFor(path)?.(text);
  assert.equal(cast(['services', 'web', 'deploy', 'replicas'], '3'), { ok: true, value: 3 });
  assert.equal(cast(['services', 'web', 'read_only'], 'true'), { ok: true, value: true });
  assert.equal(cast(['services', 'web', 'tty'], 'no'), { ok: true, value: false });
  assert.equal(cast(['services', 'web', 'ports', 0, 'target'], '80'), { ok: true, value: 80 });
  assert.equal(cast(['services', 'web', 'cpus'], '0.5'), { ok: true, value: 0.5 });
  assert.equal(cast(['networks', 'back', 'internal'], 'false'), { ok: true, value: false });
  assert.equal(cast(['services', 'web', 'deploy', 'replicas'], 'three'), { ok: false, expected: 'a whole number' });
  assert.equal(cast(['services', 'web', 'init'], 'maybe'), { ok: false, expected: 'true or false' });
  assert.is(castFor(['services', 'web', 'image']), undefined);
  assert.is(castFor(['services', 'web', 'ports', 'x', 'target']), undefined, 'a list position is a number');
});

test.run();
