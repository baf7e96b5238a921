-- The action date's rows that the new set no longer holds.
delete from {schema}.collection_actions as target
where target.action_date = %(action_date)s
  and not exists (
      select 1
      from stage_collection_actions as stage
      where stage.action_id = target.action_id
  )
