import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import ts from 'typescript';

/**
 * A request checked against AWS's own API model of a service, as the `aws-sdk` (v2) package ships
 * it: `apis/<service>-<version>.min.json` gives each operation's input shape (structures with
 * their required members, lists, maps, scalar types, deprecated members), and
 * `clients/<service>.d.ts`, generated from the same model, keeps the enums the minified model
 * drops (`type ArrayJobDependency = "N_TO_N"|"SEQUENTIAL"|string`). Read from node_modules: no
 * network. Returns every problem found, each with its path; none means valid.
 */
interface ModelShape {
  type?: 'structure' | 'list' | 'map' | 'string' | 'integer' | 'long' | 'float' | 'double' | 'boolean' | 'timestamp' | 'blob';
  shape?: string;
  required?: string[];
  members?: Record<string, ModelShape>;
  member?: ModelShape;
  value?: ModelShape;
  deprecated?: boolean;
}

interface ApiModel {
  operations: Record<string, { input: ModelShape }>;
  shapes: Record<string, ModelShape>;
}

const require = createRequire(import.meta.url);

export interface ServiceModel {
  /** Problems of `request` as the input of `operation` (e.g. `SubmitJob`), each `path: what is wrong`. */
  validate(operation: string, request: unknown): string[];
}

export function awsServiceModel(service: string, version: string, typesFile: string): ServiceModel {
  const model = require(`aws-sdk/apis/${service}-${version}.min.json`) as ApiModel;
  const enums = enumTypes(require.resolve(`aws-sdk/clients/${typesFile}.d.ts`));
  return {
    validate(operation, request) {
      const input = model.operations[operation]?.input;
      if (!input) return [`${service} has no operation ${operation}`];
      const problems: string[] = [];
      checkShape(model, input, request, operation, problems);
      enums.check(`${operation}Request`, request, operation, problems);
      return problems;
    },
  };
}

function resolved(model: ApiModel, shape: ModelShape): ModelShape {
  return shape.shape ? { ...model.shapes[shape.shape], ...shape, shape: undefined } : shape;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkShape(model: ApiModel, declared: ModelShape, value: unknown, path: string, problems: string[]): void {
  const shape = resolved(model, declared);
  switch (shape.type ?? 'string') {
    case 'structure': {
      if (!isRecord(value)) return void problems.push(`${path}: expected an object`);
      for (const name of shape.required ?? []) if (value[name] === undefined) problems.push(`${path}.${name}: required`);
      for (const [name, member] of Object.entries(value)) {
        const memberShape = shape.members?.[name];
        if (!memberShape) problems.push(`${path}.${name}: not a member (members: ${Object.keys(shape.members ?? {}).join(', ')})`);
        else if (memberShape.deprecated) problems.push(`${path}.${name}: deprecated`);
        else checkShape(model, memberShape, member, `${path}.${name}`, problems);
      }
      return;
    }
    case 'list':
      if (!Array.isArray(value)) return void problems.push(`${path}: expected a list`);
      value.forEach((item, index) => checkShape(model, shape.member ?? {}, item, `${path}[${index}]`, problems));
      return;
    case 'map':
      if (!isRecord(value)) return void problems.push(`${path}: expected a map`);
      for (const [key, item] of Object.entries(value)) checkShape(model, shape.value ?? {}, item, `${path}.${key}`, problems);
      return;
    case 'integer':
    case 'long':
      if (!Number.isInteger(value)) problems.push(`${path}: expected an integer, got ${JSON.stringify(value)}`);
      return;
    case 'float':
    case 'double':
      if (typeof value !== 'number') problems.push(`${path}: expected a number, got ${JSON.stringify(value)}`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') problems.push(`${path}: expected a boolean, got ${JSON.stringify(value)}`);
      return;
    default:
      if (typeof value !== 'string') problems.push(`${path}: expected a string, got ${JSON.stringify(value)}`);
  }
}

/** The d.ts's type declarations, walked alongside a value to check the members whose type is an enum. */
function enumTypes(file: string): { check(typeName: string, value: unknown, path: string, problems: string[]): void } {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const interfaces = new Map<string, Map<string, ts.TypeNode>>();
  const aliases = new Map<string, ts.TypeNode>();
  const visit = (node: ts.Node): void => {
    if (ts.isInterfaceDeclaration(node)) {
      const members = new Map<string, ts.TypeNode>();
      for (const member of node.members) if (ts.isPropertySignature(member) && member.type) members.set(member.name.getText(source), member.type);
      interfaces.set(node.name.text, members);
    } else if (ts.isTypeAliasDeclaration(node)) {
      aliases.set(node.name.text, node.type);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);

  const checkNode = (type: ts.TypeNode, value: unknown, path: string, problems: string[]): void => {
    if (ts.isTypeReferenceNode(type)) return check(type.typeName.getText(source), value, path, problems);
    if (ts.isArrayTypeNode(type) && Array.isArray(value)) return value.forEach((item, index) => checkNode(type.elementType, item, `${path}[${index}]`, problems));
    if (ts.isTypeLiteralNode(type) && isRecord(value)) {
      const index = type.members.find(ts.isIndexSignatureDeclaration);
      if (index) for (const [key, item] of Object.entries(value)) checkNode(index.type, item, `${path}.${key}`, problems);
      return;
    }
    if (ts.isUnionTypeNode(type) && typeof value === 'string') {
      const allowed = type.types.flatMap((member) => (ts.isLiteralTypeNode(member) && ts.isStringLiteral(member.literal) ? [member.literal.text] : []));
      if (allowed.length > 0 && !allowed.includes(value)) problems.push(`${path}: "${value}" is not one of ${allowed.join(', ')}`);
    }
  };
  const check = (typeName: string, value: unknown, path: string, problems: string[]): void => {
    const members = interfaces.get(typeName);
    if (members) {
      if (!isRecord(value)) return;
      for (const [name, item] of Object.entries(value)) {
        const type = members.get(name);
        if (type) checkNode(type, item, `${path}.${name}`, problems);
      }
      return;
    }
    const alias = aliases.get(typeName);
    if (alias) checkNode(alias, value, path, problems);
  };
  return { check };
}
