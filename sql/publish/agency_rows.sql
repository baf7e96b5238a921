-- One agency's placement file for an action date (CONTRACT section 11): the customers placed
-- with it tonight, with what a collector needs to work them, and the customers recalled
-- tonight, with the reason and no personal data (the agency must stop, not start). Personal
-- values come from publish_customers (arrears/pii/publishing.py), as for the channel files.
with

events as (
    select * from marts.assignments
    where action_date = $action_date
      and assignee_kind = 'AGENCY'
      and assignee_id = $agency_id
),

placements as (
    select
        customer_id,
        case when recalled_date is null then 'PLACED' else 'RECALLED' end as event,
        min(placed_date) as placed_date,
        max(recalled_date) as recalled_date,
        case when bool_and(recalled_date is null) then null else min(reason) end as reason,
        list(distinct channel order by channel) as channels,
    from events
    group by customer_id, event
),

actions as (
    select * from marts.collection_actions
    where action_date = $action_date
      and assignee_kind = 'AGENCY'
      and assignee_id = $agency_id
    qualify row_number() over (
        partition by customer_id
        order by case channel when 'LEGAL' then 1 when 'VISIT' then 2 else 3 end
    ) = 1
),

customers as (
    select * from publish_customers
),

loan_aging as (
    select snapshot_date, loan_id, branch from marts.loan_aging
),

final as (
    select
        $agency_id as agency_id,
        $action_date::date as action_date,
        placements.event,
        placements.reason,
        placements.customer_id,
        placements.channels,
        placements.placed_date,
        placements.recalled_date,
        actions.stage,
        actions.loan_ids,
        actions.primary_loan_id,
        actions.overdue_amount,
        actions.outstanding_amount,
        customers.full_name,
        customers.phone,
        customers.address,
        customers.city,
        customers.province,
        customers.postal_code,
        loan_aging.branch,
    from placements
    left join actions
        on actions.customer_id = placements.customer_id
        and placements.event = 'PLACED'
    left join customers
        on customers.customer_id = actions.customer_id
        and customers.snapshot_date = actions.snapshot_date
    left join loan_aging
        on loan_aging.loan_id = actions.primary_loan_id
        and loan_aging.snapshot_date = actions.snapshot_date
    order by placements.event, placements.customer_id
)

select * from final
