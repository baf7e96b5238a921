-- Tonight's visits with what orders them: branch, and the run's clear postal code and
-- coordinates (work.customers), read into memory only, never written back.
select
    actions.action_id,
    coalesce(loans.branch, '') as branch,
    coalesce(customers.postal_code, '') as postal_code,
    actions.priority,
    try_cast(customers.latitude as double) as latitude,
    try_cast(customers.longitude as double) as longitude,
    actions.assignee_id,
from work.collection_actions as actions
left join work.loan_aging as loans
    on loans.loan_id = actions.primary_loan_id
left join work.customers as customers
    on customers.customer_id = actions.customer_id
where actions.channel = 'VISIT' and actions.assignee_id is not null
order by actions.assignee_id, actions.action_id
