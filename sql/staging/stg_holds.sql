-- config: materialized=view, scope=customer
-- Reasons not to contact in force at D; an empty loan_id means every loan of the customer.
with

source as (
    select * from work.holds
),

final as (
    select
        customer_id,
        nullif(trim(loan_id), '') as loan_id,
        kind,
        start_date,
        end_date,
    from source
)

select * from final
