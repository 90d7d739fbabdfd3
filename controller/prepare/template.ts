// Controller side of `template`: renders the template file for this host (strict: a missing
// variable names the template's file:line) and sends only the rendered text's hash.
import { readFileSync } from 'node:fs';
import { basename, relative } from 'node:path';
import type { PreparedContent } from '../../modules/lib/content-file.js';
import type { TemplateParams } from '../../modules/params/template.js';
import { renderTemplate } from '../templates/render-file.js';
import { ok } from '../errors.js';
import type { Prepare } from './contract.js';
import { findSource } from './source-file.js';

export const prepareTemplate: Prepare = (params, ctx) => {
  const { src, ...rest } = params as TemplateParams;
  const found = findSource('template', src, ctx.baseDir, ctx.where);
  if (!found.ok) return found;
  // Errors name the template the way the operator would open it: relative to where they run berth.
  const shown = relative(process.cwd(), found.value.path).startsWith('..') ? found.value.path : relative(process.cwd(), found.value.path);
  const text = renderTemplate(readFileSync(found.value.path, 'utf8'), shown, ctx.scope, ctx.where);
  if (!text.ok) return text;
  const { sha256, size } = ctx.blobs.add(text.value);
  return ok({ ...rest, sha256, size, name: basename(src).replace(/\.(hbs|handlebars|tmpl|j2)$/, ''), origin: src } satisfies PreparedContent);
};
