import { z } from 'zod';

/**
 * The control mapping (`reports.controls`): which conformance rules give evidence for which control
 * of a framework an auditor checks (PCI DSS requirement 1, NIST 800-53 SC-7, CIS controls). The
 * compliance report passes or fails each control from its rules' results in the period.
 */
export const controlSchema = z.strictObject({
  /** The control's own id in its framework ("1.3.1", "SC-7(5)", "CIS 4.4"). */
  id: z.string().min(1),
  title: z.string().min(1),
  /** Rule ids of the rules file whose results are this control's evidence. */
  rules: z.array(z.string().min(1)).min(1),
});

export const frameworkSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'framework ids are letters, digits, dot, dash and underscore'),
  name: z.string().min(1),
  controls: z.array(controlSchema).min(1),
});

export const controlMappingSchema = z.strictObject({
  version: z.string().optional(),
  frameworks: z.array(frameworkSchema).min(1),
});

export type ControlMapping = z.infer<typeof controlMappingSchema>;
