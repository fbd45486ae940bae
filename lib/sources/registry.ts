import { agentSource } from './agent-source.ts';
import { awsVpcSource } from './aws-vpc-source.ts';
import { azureNsgSource } from './azure-nsg-source.ts';
import { azureVnetSource } from './azure-vnet-source.ts';
import { gcpVpcSource } from './gcp-vpc-source.ts';
import { ociVcnSource } from './oci-vcn-source.ts';
import type { SourceDefinition, SourceType } from './source-definition.ts';

/**
 * Every source the hourly job knows. Adding one: a raw-record schema in schemas/sources/, a
 * definition here, `sql/normalize/<source_type>__records.sql`, fixtures under test/fixtures/.
 */
export const SOURCES: readonly SourceDefinition[] = [awsVpcSource, azureNsgSource, azureVnetSource, gcpVpcSource, ociVcnSource, agentSource];

export function sourceByType(sourceType: string): SourceDefinition {
  const source = SOURCES.find((candidate) => candidate.sourceType === sourceType);
  if (!source) throw new Error(`unknown source type "${sourceType}"`);
  return source;
}

export function sourceByCliName(name: string): SourceDefinition | undefined {
  return SOURCES.find((candidate) => candidate.cliName === name || candidate.sourceType === name);
}

export type { SourceType };
