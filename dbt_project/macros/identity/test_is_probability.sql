{#- A Fellegi-Sunter m or u: a probability above 0 (log2(m/u) must exist) and at most 1. -#}
{% test is_probability(model, column_name) %}
select {{ column_name }}
from {{ model }}
where not ({{ column_name }} > 0 and {{ column_name }} <= 1)
{% endtest %}
