// The playbook language in one import: schemas (TypeBox, so JSON Schema) and the types derived
// from them. Docs and editors can use the JSON Schema as is; `$ref`s name `sharedSchemas()`.
export { Playbook, Play, InventoryRef, LabRef, StaticRef, VagrantRef, PulumiRef, providerNames } from './playbook.js';
export { Inventory, InventoryHost, InventoryGroup, SshDefaults } from './inventory.js';
export { Service, Sidecar, Services, Health, Register } from './service.js';
export { Rollout, rolloutKeys } from './rollout.js';
export { Task, Handler, taskKeys } from './task.js';
export { sharedSchemas, sharedSchema } from './common.js';
