-- Tonight's assignee and visit order on each assigned action.
update work.collection_actions as actions
set
    assignee_kind = assigned.assignee_kind,
    assignee_id = assigned.assignee_id,
    visit_sequence = assigned.visit_sequence
from work.alloc_assigned as assigned
where assigned.action_id = actions.action_id
