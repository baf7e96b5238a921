-- The load of an action date, in the transaction that wrote its rows; loaded_at is now(), the
-- transaction's start, as on every row it wrote.
insert into {schema}.loads (
    action_date, run_id, loaded_at, collection_actions, suppressed_actions
)
values (
    %(action_date)s, %(run_id)s, now(), %(collection_actions)s, %(suppressed_actions)s
)
