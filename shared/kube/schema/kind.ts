/** What a kind needs beyond its schemas to become a CRD. */
import type { JSONSchemaProps, Schema, ValidationRule } from './builder.js';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface KindDef<Spec = unknown, Status = unknown> {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: Schema<Spec>;
  status: Schema<Status>;
  /** rules on the whole object (may read metadata.name and metadata.generateName, nothing else of metadata) */
  rootRules?: ValidationRule[];
  /** the kind's key output, shown between Reason and Age */
  columns: PrinterColumn[];
}

export const readyColumns: PrinterColumn[] = [
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
];
/** the Ready message, where Flux's own kinds show it (Ready, Status, Age): what `kubectl get` readers look for */
export const statusColumn: PrinterColumn = { name: 'Status', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].message' };
export const ageColumn: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

export function defineKind<Spec, Status>(def: KindDef<Spec, Status>): KindDef<Spec, Status> {
  return def;
}

export type { JSONSchemaProps };
