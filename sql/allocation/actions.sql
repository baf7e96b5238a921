-- The actions someone works by hand (CALL, VISIT, LEGAL), in the order the channel capacity
-- ranks them, with the branch of the action's primary loan (teams and agencies by branch).
select
    actions.action_id,
    actions.customer_id,
    actions.channel,
    actions.stage,
    coalesce(loans.branch, '') as branch,
    actions.overdue_amount,
from work.collection_actions as actions
left join work.loan_aging as loans
    on loans.loan_id = actions.primary_loan_id
where actions.channel in ('CALL', 'VISIT', 'LEGAL')
order by actions.risk_score desc, actions.overdue_amount desc, actions.customer_id, actions.channel
