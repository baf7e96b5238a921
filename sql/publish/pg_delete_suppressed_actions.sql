-- Suppressed actions are replaced whole per action date (one row per action and reason).
delete from {schema}.suppressed_actions as target
where target.action_date = %(action_date)s
