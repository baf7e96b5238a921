-- The order of each agent's visits (sql/allocation/visits.sql, arrears/allocation/routing.py).
update work.collection_actions as actions
set visit_sequence = sequenced.visit_sequence
from work.alloc_sequence as sequenced
where sequenced.action_id = actions.action_id
