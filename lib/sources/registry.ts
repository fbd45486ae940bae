import { agentSource } from './agent-source.ts';
import { awsVpcSource } from './aws-vpc-source.ts';
import type { SourceDefinition } from './source-definition.ts';

/** Every source the hourly job knows. Adding one: a definition here, a normalize model, fixtures. */
export const SOURCES: readonly SourceDefinition[] = [awsVpcSource, agentSource];
