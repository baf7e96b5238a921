-- The deferred actions leave the action list.
delete from work.collection_actions
where action_id in (select action_id from work.alloc_deferred)
