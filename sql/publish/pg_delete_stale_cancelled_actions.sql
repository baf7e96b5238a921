-- The action date's cancellations that the new list no longer holds (a payments file taken back).
delete from {schema}.cancelled_actions as target
where target.action_date = %(action_date)s
  and not exists (
      select 1
      from stage_cancelled_actions as stage
      where stage.action_id = target.action_id
  )
