export { compileRuleSet, liveRuleIds, type CompileOptions, type CompiledRule, type RuleAction, type RuleHit, type RuleMode, type RuleSet, type RuleSetDescription } from './compile';
export { RuleSetError } from './errors';
export { createRulesHolder, type ReloadOutcome, type RulesHolder, type RulesHolderOptions, type RulesStatus } from './holder';
export { InMemoryListRegistry, LIST_KINDS, type ListKind, type ListMembership, type ListRegistry } from './lists';
export { TRANSACTION_FIELDS, localHourOf } from './fields';
export { RedisListMirror, redisListKey, type RedisListMirrorOptions } from './redis-lists';
