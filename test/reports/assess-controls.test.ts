import { describe, expect, test } from 'vitest';
import { assessControls, ruleStatus } from '../../lib/reports/assess-controls.ts';
import type { ControlMapping } from '../../schemas/reference/controls.ts';

const mapping: ControlMapping = {
  frameworks: [{ id: 'nist', name: 'NIST 800-53', controls: [{ id: 'SC-7', title: 'Boundary protection', rules: ['a', 'b'] }, { id: 'SC-7(5)', title: 'Deny by default', rules: ['b', 'gone'] }] }],
};

describe('control assessment from rule results', () => {
  test.each([
    { case: 'no violation in a period with flows: every control passes, a mapped rule missing from the rules file is not assessed', rules: [{ rule_id: 'a', violating: 0 }, { rule_id: 'b', violating: 0 }], flows: true, statuses: ['pass', 'not_assessed'], failing: [[], []] },
    { case: 'a violation of a shared rule fails both controls', rules: [{ rule_id: 'a', violating: 0 }, { rule_id: 'b', violating: 2 }], flows: true, statuses: ['fail', 'fail'], failing: [['b'], ['b']] },
    { case: 'no flows published: nothing to judge', rules: [{ rule_id: 'a', violating: 0 }, { rule_id: 'b', violating: 0 }], flows: false, statuses: ['no_data', 'not_assessed'], failing: [[], []] },
  ])('$case', ({ rules, flows, statuses, failing }) => {
    const assessed = assessControls(mapping, rules, flows);
    expect(assessed.map((c) => c.status)).toEqual(statuses);
    expect(assessed.map((c) => c.failing_rules)).toEqual(failing);
    expect(assessed[1]!.unknown_rules).toEqual(['gone']);
  });

  test('a rule fails on any violation, passes without one, has no data without flows', () => {
    expect([ruleStatus({ rule_id: 'a', violating: 1 }, true), ruleStatus({ rule_id: 'a', violating: 0 }, true), ruleStatus({ rule_id: 'a', violating: 0 }, false)]).toEqual(['fail', 'pass', 'no_data']);
  });
});
