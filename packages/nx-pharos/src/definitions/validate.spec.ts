import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBaseImageDefinition } from './base-image';
import { parseContainerDefinition } from './container';
import { parsePluginOptions } from './plugin-options';
import { parseSiteSources } from './site-sources';
import { parseSourceRecipe } from './source-recipe';
import { parseError } from '../testing/parse-error';
import { parseYamlFile, validateValue, type Shape } from './validate';
import { parseVmImageDefinition } from './vm-image';

const WORKSPACE = join(__dirname, '../../../..');
const PARSERS: Record<string, (text: string, file: string) => unknown> = {
  'base-image.yaml': parseBaseImageDefinition,
  'container.yaml': parseContainerDefinition,
  'recipe.yaml': parseSourceRecipe,
  'vm-image.yaml': parseVmImageDefinition,
};

const SHAPE: Shape = {
  kind: 'map',
  required: ['name'],
  fields: {
    name: { kind: 'string' },
    size: { kind: 'number', integer: true, min: 1 },
    nested: { kind: 'map', fields: { nodes: { kind: 'list', of: { kind: 'string' }, nonEmpty: true }, flag: { kind: 'boolean' } } },
    tags: { kind: 'dict', of: { kind: 'enum', values: ['a', 'b'] } },
    limit: { kind: 'duration' },
  },
};
const parse = (text: string, file: string) => parseYamlFile(text, file, SHAPE).data;

describe('the declarative validator', () => {
  it('names the line the YAML parser reports for a syntax error', () => {
    const err = parseError(parse, 'name: x\nnested:\n  nodes: [a\n', 'f.yaml');
    expect(err.format()).toMatch(/^pharos: f\.yaml:4: invalid YAML: /);
  });

  it('names the line, key path and known keys of an unknown nested key', () => {
    const err = parseError(parse, 'name: x\nnested:\n  flag: true\n  nodse: [a]\n', 'f.yaml');
    expect(err.format()).toBe('pharos: f.yaml:4: unknown key "nested.nodse" (known here: nodes, flag)\n  next: remove or rename "nodse"');
    expect(parseError(parse, 'name: x\nnmae: y\n', 'f.yaml').details.line).toBe(2);
  });

  it('names the line of a bad value, with the value', () => {
    expect(parseError(parse, 'name: x\nsize: 0\n', 'f.yaml').format()).toBe('pharos: f.yaml:2: "size" must be an integer from 1, got 0');
    expect(parseError(parse, 'name: x\ntags:\n  one: a\n  two: c\n', 'f.yaml').format()).toBe('pharos: f.yaml:4: "tags.two" must be one of a, b, got "c"');
    expect(parseError(parse, 'name: x\nnested: { nodes: [] }\n', 'f.yaml').format()).toBe('pharos: f.yaml:2: "nested.nodes" must list at least one entry');
    expect(parseError(parse, 'name: x\nnested: { flag: yes please }\n', 'f.yaml').details.line).toBe(2);
    expect(parseError(parse, 'size: 2\n', 'f.yaml').format()).toBe('pharos: f.yaml:1: the file lacks "name"');
    expect(parseError(parse, '- a\n', 'f.yaml').format()).toBe('pharos: f.yaml:1: the file must be a mapping');
  });

  it('reads a duration as written, and names the line of one that is not', () => {
    expect(parse('name: x\nlimit: 1h30m\n', 'f.yaml')).toEqual({ name: 'x', limit: '1h30m' });
    expect(parseError(parse, 'name: x\nlimit: 10 minutes\n', 'f.yaml').format()).toBe(
      'pharos: f.yaml:2: "limit" must be a duration such as 90s, 10m or 1h30m, got "10 minutes"',
    );
    expect(parseError(parse, 'name: x\nlimit: 90\n', 'f.yaml').format()).toBe('pharos: f.yaml:2: "limit" must be a duration such as 90s, 10m or 1h30m, got 90');
  });

  it('reads an empty value as absent, and an empty file as an empty mapping', () => {
    expect(parse('name: x\nsize:\nnested:\n', 'f.yaml')).toEqual({ name: 'x' });
    expect(parseYamlFile('', 'f.yaml', { kind: 'map', fields: {} }).data).toEqual({});
  });

  it('locates later checks of the parser at any visited key path', () => {
    const file = parseYamlFile<{ name: string }>('name: x\nnested:\n  nodes:\n    - a\n    - b\n', 'f.yaml', SHAPE);
    expect(file.lineOf('nested.nodes[1]')).toBe(5);
    expect(() => file.fail('nested.nodes[1]', 'b is taken')).toThrow('b is taken');
  });

  it('checks values that were never text, without a line', () => {
    const err = parseError((text, file) => validateValue(JSON.parse(text), SHAPE, file), '{"name":"x","nested":{"nodse":1}}', 'nx.json');
    expect(err.format()).toMatch(/^pharos: nx\.json: unknown key "nested\.nodse" \(known here: nodes, flag\)/);
  });
});

describe('every definition file in the repository', () => {
  const files = ['containers', 'third-party', 'packer', 'tools']
    .flatMap((dir) => readdirSync(join(WORKSPACE, dir)).flatMap((project) => Object.keys(PARSERS).map((name) => `${dir}/${project}/${name}`)))
    .filter((file) => existsSync(join(WORKSPACE, file)));

  it.each(files)('%s is accepted', (file) => {
    const name = file.split('/').pop() as string;
    expect(() => PARSERS[name](readFileSync(join(WORKSPACE, file), 'utf8'), file)).not.toThrow();
  });

  it('covers every kind of definition', () => {
    expect(new Set(files.map((f) => f.split('/').pop()))).toEqual(new Set(Object.keys(PARSERS)));
  });

  it("accepts the repository's nx.json", () => {
    expect(parsePluginOptions(undefined, readFileSync(join(WORKSPACE, 'nx.json'), 'utf8'))).toEqual({});
  });
});

describe('plugin options in nx.json', () => {
  const nxJson = (options: object) => JSON.stringify({ plugins: ['other', { plugin: '@pharos/nx-plugin', options }] }, null, 2);

  it('reads the known options', () => {
    expect(parsePluginOptions({ imagesWithout: ['beegfs'] }, nxJson({ imagesWithout: ['beegfs'] }))).toEqual({ imagesWithout: ['beegfs'] });
    expect(parsePluginOptions(undefined, undefined)).toEqual({});
    expect(parsePluginOptions({ overlayBase: 'base-tools' }, undefined)).toEqual({ overlayBase: 'base-tools' });
    expect(parseError(() => parsePluginOptions({ overlayBase: 'containers/x' }, undefined), '', 'nx.json').message).toContain(
      'must be the name of a container project',
    );
  });

  it('reads the Slurm engine options, and names what each must be', () => {
    const slurm = { engine: 'slurm', slurmNode: '/opt/node/bin/node', partition: 'short,long' };
    expect(parsePluginOptions(slurm, nxJson(slurm))).toEqual(slurm);
    expect(parseError(() => parsePluginOptions({ engine: 'cloud' }, undefined), '', 'nx.json').message).toBe(
      '"engine" must be one of local, slurm, got "cloud"',
    );
    expect(parseError(() => parsePluginOptions({ slurmNode: 'my node' }, undefined), '', 'nx.json').message).toContain('without spaces or quotes');
    expect(parseError(() => parsePluginOptions({ partition: 'a b' }, undefined), '', 'nx.json').message).toContain('be a Slurm partition name');
  });

  it('refuses an unknown option with its line in nx.json and the known options', () => {
    const options = { imagesWithot: ['beegfs'] };
    const err = parseError(() => parsePluginOptions(options, nxJson(options)), '', 'nx.json');
    expect(err.format()).toBe(
      'pharos: nx.json:7: unknown key "imagesWithot" (known here: imagesWithout, overlayBase, engine, slurmNode, partition)\n  next: remove or rename "imagesWithot"',
    );
    expect(parseError(() => parsePluginOptions(options, undefined), '', 'nx.json').format()).toMatch(/^pharos: nx\.json: unknown key "imagesWithot"/);
    expect(parseError(() => parsePluginOptions({ imagesWithout: 'beegfs' }, undefined), '', 'nx.json').message).toBe(
      '"imagesWithout" must be a list, got "beegfs"',
    );
  });
});

describe('the sources config', () => {
  const FILE = '/home/u/.config/pharos/sources.yaml';

  it('reads mirrors and pins', () => {
    expect(parseSiteSources(`mirrors: [file:///srv/m]\npins:\n  x.tar.gz: ${'a'.repeat(64)}\n`, FILE)).toEqual({
      mirrors: ['file:///srv/m'],
      pins: { 'x.tar.gz': 'a'.repeat(64) },
    });
    expect(parseSiteSources('', FILE)).toEqual({ mirrors: [], pins: {} });
  });

  it('names the line of a bad pin and of a misspelled section', () => {
    expect(parseError(parseSiteSources, 'pins:\n  x.tar.gz: abc\n', FILE).format()).toBe(
      `pharos: ${FILE}:2: "pins.x.tar.gz" must be a sha256 digest (64 lower-case hex digits), got "abc"`,
    );
    expect(parseError(parseSiteSources, 'mirror: [a]\n', FILE).message).toBe('unknown key "mirror" (known here: mirrors, pins)');
  });
});

describe('nested keys and syntax errors in each definition', () => {
  it('vm-image.yaml: a nested typo is refused at its line', () => {
    const text = 'suite: bookworm\nfrom: cloud-base\ntemplate: t.pkr.hcl\ncluster:\n  controller: c\n  nodse: [n]\n';
    expect(parseError(parseVmImageDefinition, text, 'packer/x/vm-image.yaml').format()).toBe(
      'pharos: packer/x/vm-image.yaml:6: unknown key "cluster.nodse" (known here: controller, nodes, containers)\n  next: remove or rename "nodse"',
    );
    expect(parseError(parseVmImageDefinition, 'suite: bookworm\nfrom: a\ntemplate: t\nmemroy: 1\n', 'v.yaml').details.line).toBe(4);
  });

  it('container.yaml and recipe.yaml: a syntax error names its line', () => {
    expect(parseError(parseContainerDefinition, 'test:\n  checks: [\n', 'c.yaml').details.line).toBe(3);
    expect(parseError(parseSourceRecipe, 'name: x\nversions:\n  "1": {\n', 'r.yaml').details.line).toBe(4);
  });

  it('base-image.yaml: a bad include names the item', () => {
    expect(parseError(parseBaseImageDefinition, 'suite: trixie\ninclude:\n  - ok\n  - "a b"\n', 'b.yaml').format()).toBe(
      'pharos: b.yaml:4: "include[1]" must be a Debian package or component name, got "a b"',
    );
  });
});
