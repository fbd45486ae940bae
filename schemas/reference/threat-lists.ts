import { z } from 'zod';

/**
 * A threat list: a named set of addresses and networks. A flow whose source or destination falls
 * in a list gets the list's name in `src_threat_lists` / `dst_threat_lists`, and `threat` rules
 * turn that into violations.
 *
 * Formats: `plain` (one address or CIDR per line, `#` and `;` comments), `netset` (FireHOL's
 * .netset/.ipset files: the same, with a commented header), `csv` (a header row; `column` names
 * the column holding the address or CIDR).
 */
export const threatListSchema = z
  .strictObject({
    /** Recorded on flows and alerts; letters, digits, dot, dash, underscore and colon. */
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'list names are letters, digits, dot, dash, underscore and colon'),
    path: z.string().min(1),
    format: z.enum(['plain', 'netset', 'csv']).default('plain'),
    /** For `csv`: the header of the column with the address or CIDR. */
    column: z.string().min(1).optional(),
    /** CSV field separator (one character). */
    delimiter: z.string().length(1).default(','),
  })
  .superRefine((list, ctx) => {
    if (list.format === 'csv' && !list.column) ctx.addIssue({ code: 'custom', path: ['column'], message: 'a csv threat list needs "column": the header of the address column' });
    if (list.format !== 'csv' && list.column) ctx.addIssue({ code: 'custom', path: ['column'], message: '"column" applies to csv lists only' });
  });

export type ThreatListConfig = z.infer<typeof threatListSchema>;

/** One entry of a loaded list, with where it came from for error messages. */
export interface ThreatEntry {
  list: string;
  cidr: string;
}
