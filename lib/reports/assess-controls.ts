import type { ControlMapping } from '../../schemas/reference/controls.ts';

export type AssessmentStatus = 'pass' | 'fail' | 'no_data' | 'not_assessed';

/** What a control's assessment needs of a rule's result in the period. */
export interface RuleResult {
  rule_id: string;
  violating: number;
}

export interface ControlAssessment {
  framework_id: string;
  framework: string;
  control_id: string;
  title: string;
  rules: string[];
  /** `fail`: a mapped rule had violations; `pass`: none had; `no_data`: no published flows in the period; `not_assessed`: a mapped rule is not in the rules file (and none failed). */
  status: AssessmentStatus;
  failing_rules: string[];
  unknown_rules: string[];
}

/** A rule passes a period with published flows and no violation, fails with one; without flows there is nothing to judge. */
export function ruleStatus(rule: RuleResult, hasFlows: boolean): AssessmentStatus {
  if (rule.violating > 0) return 'fail';
  return hasFlows ? 'pass' : 'no_data';
}

/** Every control of every framework, passed or failed from its mapped rules. */
export function assessControls(mapping: ControlMapping, rules: readonly RuleResult[], hasFlows: boolean): ControlAssessment[] {
  return mapping.frameworks.flatMap((framework) =>
    framework.controls.map((control) => {
      const known = control.rules.filter((id) => rules.some((rule) => rule.rule_id === id));
      const unknown = control.rules.filter((id) => !known.includes(id));
      const failing = known.filter((id) => ruleStatus(rules.find((rule) => rule.rule_id === id)!, hasFlows) === 'fail');
      const status: AssessmentStatus = failing.length > 0 ? 'fail' : unknown.length > 0 ? 'not_assessed' : hasFlows ? 'pass' : 'no_data';
      return { framework_id: framework.id, framework: framework.name, control_id: control.id, title: control.title, rules: control.rules, status, failing_rules: failing, unknown_rules: unknown };
    }),
  );
}
