/**
 * The Kafka ACLs the service needs, derived from its configuration: the one list `npm run kafka:acls` prints for
 * an operator, the README explains and the secured-Kafka test grants (and nothing more), so the three cannot drift.
 * READ and WRITE imply DESCRIBE. The idempotent producer needs no cluster ACL on Kafka 3.0+ (KIP-679: WRITE on a
 * topic is enough for InitProducerId).
 */
import type { Config } from '../config/schema';

export interface RequiredAcl {
  resource: 'topic' | 'group';
  name: string;
  operation: 'READ' | 'WRITE';
  /** Who needs it, in words. */
  why: string;
}

export type AclSettings = Pick<Config, 'transactionsTopic' | 'labelsTopic' | 'alertsTopic' | 'dlqTopic' | 'scoresTopic' | 'kafkaGroupId' | 'deskDatabaseUrl' | 'deskGroupId'>;

export function requiredAcls(config: AclSettings): RequiredAcl[] {
  const acls: RequiredAcl[] = [
    { resource: 'topic', name: config.transactionsTopic, operation: 'READ', why: 'scoring consumer' },
    { resource: 'group', name: config.kafkaGroupId, operation: 'READ', why: 'scoring consumer' },
    { resource: 'topic', name: config.labelsTopic, operation: 'READ', why: 'labels consumer (state, compromise detection)' },
    { resource: 'group', name: `${config.kafkaGroupId}.labels`, operation: 'READ', why: 'labels consumer' },
    { resource: 'topic', name: config.alertsTopic, operation: 'WRITE', why: 'alerts' },
    { resource: 'topic', name: config.dlqTopic, operation: 'WRITE', why: 'dead letters' },
  ];
  if (config.scoresTopic) acls.push({ resource: 'topic', name: config.scoresTopic, operation: 'WRITE', why: 'every decision' });
  // The desk in the kafka mode reads alerts, scores and labels into its database and writes analysts' labels.
  if (config.deskDatabaseUrl !== undefined) {
    const desk = (topic: string, suffix: string) => [
      { resource: 'topic' as const, name: topic, operation: 'READ' as const, why: 'fraud desk' },
      { resource: 'group' as const, name: `${config.deskGroupId}-${suffix}`, operation: 'READ' as const, why: 'fraud desk' },
    ];
    acls.push(...desk(config.alertsTopic, 'alerts'), ...desk(config.labelsTopic, 'labels'));
    if (config.scoresTopic) acls.push(...desk(config.scoresTopic, 'scores'));
    acls.push({ resource: 'topic', name: config.labelsTopic, operation: 'WRITE', why: "fraud desk (analysts' decisions)" });
  }
  return acls;
}

/** The `kafka-acls.sh` command that grants one ACL to `principal` (e.g. User:cardshield). */
export function kafkaAclsCommand(acl: RequiredAcl, principal: string, bootstrap: string): string {
  const resource = acl.resource === 'topic' ? `--topic '${acl.name}'` : `--group '${acl.name}'`;
  return `kafka-acls.sh --bootstrap-server ${bootstrap} --command-config admin.properties --add --allow-principal '${principal}' --operation ${acl.operation} ${resource}`;
}
