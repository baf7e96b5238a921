insert into {schema}.suppressed_actions
select * from stage_suppressed_actions
