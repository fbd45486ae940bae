import { ModelDefinitionError, type ModelDefinition } from './model-definition.ts';

/**
 * Orders models so that each runs after its declared upstream models. `external` names the
 * relations that exist before any model runs (staged inputs, reference data).
 */
export function orderModels(models: ModelDefinition[], external: ReadonlySet<string>): ModelDefinition[] {
  const byName = new Map<string, ModelDefinition>();
  for (const model of models) {
    if (byName.has(model.name)) throw new ModelDefinitionError(model.origin, `model "${model.name}" is defined twice`);
    byName.set(model.name, model);
  }
  const ordered: ModelDefinition[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (model: ModelDefinition, path: string[]) => {
    const seen = state.get(model.name);
    if (seen === 'done') return;
    if (seen === 'visiting') {
      throw new ModelDefinitionError(model.origin, `dependency cycle: ${[...path, model.name].join(' -> ')}`);
    }
    state.set(model.name, 'visiting');
    for (const name of model.upstream) {
      const upstream = byName.get(name);
      if (upstream) visit(upstream, [...path, model.name]);
      else if (!external.has(name)) throw new ModelDefinitionError(model.origin, `unknown upstream model "${name}"`);
    }
    state.set(model.name, 'done');
    ordered.push(model);
  };
  for (const model of models) visit(model, []);
  return ordered;
}
