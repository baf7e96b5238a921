-- Customers under a hold of the holds dataset on the action date (any loan): their
-- placements are recalled. CEASE_CONTACT is named, as agencies must stop at once.
select
    customer_id,
    case when bool_or(kind = 'CEASE_CONTACT') then 'CEASE_CONTACT' else 'HOLD' end as reason,
from work.holds
where start_date <= $action_date::date
    and (end_date is null or end_date >= $action_date::date)
group by customer_id
