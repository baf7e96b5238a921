-- The placements carried from the previous night (marts.assignment_state).
select customer_id, channel, assignee_kind, assignee_id, placed_date,
from marts.assignment_state
where snapshot_date = $previous_snapshot_date
order by customer_id, channel
