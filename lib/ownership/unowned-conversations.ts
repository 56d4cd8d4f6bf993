/**
 * What owner-scoped callers may do with a conversation that exists but has no recorded owner (made
 * before ownership was turned on, or by Python): `'claim'` (default): anyone may read it, and the
 * first owner-scoped write (a delete included) makes its caller the owner; `'deny'`: owner-scoped
 * callers are refused with `ConversationAccessDeniedError` until `SessionMemoryService.assignOwner`
 * gives it an owner. Either way a conversation that does not exist yet is created and claimed by
 * its first writer. Calls made without an owner are not affected.
 */
export type UnownedConversations = 'claim' | 'deny';
