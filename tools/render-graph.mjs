#!/usr/bin/env zx
// Renders `nx graph` (projects and their dependencies) as a Mermaid diagram into docs/architecture.md, between the
// GRAPH markers, so the page shows the graph Nx actually computes. Run: npx zx tools/render-graph.mjs
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { $ } from 'zx';

$.verbose = false;
const root = resolve(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'pharos-graph-'));
try {
  await $({ cwd: root, env: { ...process.env, NX_DAEMON: 'false' } })`npx nx graph --file=${join(tmp, 'graph.json')}`;
  const { graph } = JSON.parse(readFileSync(join(tmp, 'graph.json'), 'utf8'));
  const id = (name) => name.replace(/[^A-Za-z0-9_]/g, '_');
  const lines = ['```mermaid', 'graph BT'];
  for (const [name, node] of Object.entries(graph.nodes).sort()) {
    lines.push(`  ${id(name)}["${name}<br/><small>${node.data.root}</small>"]`);
  }
  for (const [source, deps] of Object.entries(graph.dependencies).sort()) {
    for (const d of deps) if (graph.nodes[d.target]) lines.push(`  ${id(source)} --> ${id(d.target)}`);
  }
  lines.push('```');
  const doc = join(root, 'docs/architecture.md');
  const text = readFileSync(doc, 'utf8');
  const next = text.replace(/(<!-- GRAPH:START[^\n]*-->\n)[\s\S]*?(<!-- GRAPH:END -->)/, `$1${lines.join('\n')}\n$2`);
  writeFileSync(doc, next);
  console.log(`docs/architecture.md: ${Object.keys(graph.nodes).length} projects`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
