-- config: materialized=table, scope=customer
-- One row per customer and contact (PHONE, ADDRESS) whose current value in D's customers file
-- was reported bad (CONTRACT section 9): the first report of that value. It is not used (BAD_PHONE
-- for SMS and CALL, BAD_ADDRESS for LETTER and VISIT) while it stays the customer's.
with

blocks as (
    select * from work.stg_contact_blocks
    where is_current
),

final as (
    select
        customer_id,
        contact,
        since_date,
        event_id,
        channel,
        outcome,
        occurred_at,
    from blocks
    qualify row_number() over (
        partition by customer_id, contact order by since_date, occurred_at, event_id
    ) = 1
)

select * from final
