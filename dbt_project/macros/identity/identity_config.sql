{#- Identity resolution settings: everything a data engineer tunes is in the dictionary
    below (docs/identity.md explains each key). Any top-level key can be overridden per run:
    `dbt build --vars '{identity: {match_threshold: 7}}'`. Weights are Fellegi-Sunter
    log2(m/u): m = P(level | same customer), u = P(level | different customers). -#}
{% macro identity_config() -%}
{%- set config = {}  -%}
{#- Words a company name is stripped of before comparison (longest first is applied first). -#}
{%- do config.update({"legal_forms": [
        "股份有限公司",
        "有限责任公司",
        "有限公司",
        "股份公司",
        "集团公司",
        "公司",
        "co., ltd.",
        "co.,ltd.",
        "co. ltd.",
        "co ltd",
        "company limited",
        "limited",
        "ltd.",
        "ltd",
        "inc.",
        "inc",
        "corporation",
        "corp.",
        "co."
    ]}) -%}
{#- Departments written after the organisation on forms (a request from 采购部 is the company's). -#}
{%- do config.update({"departments": [
        "采购部",
        "研发部",
        "技术中心",
        "工程部",
        "材料学院",
        "课题组",
        "实验室",
        "分析测试中心",
        "质量部",
        "研究中心"
    ]}) -%}
{#- Group words: kept in the name (普科集团 and 普科新材料 are different legal entities). -#}
{%- do config.update({"group_words": [
        "集团"
    ]}) -%}
{#- Free-mail domains: an address there identifies a person, its domain says nothing about the company. -#}
{%- do config.update({"free_mail_domains": [
        "qq.com",
        "163.com",
        "126.com",
        "sina.com",
        "sina.cn",
        "sohu.com",
        "yeah.net",
        "139.com",
        "foxmail.com",
        "aliyun.com",
        "gmail.com",
        "outlook.com",
        "hotmail.com",
        "yahoo.com",
        "live.com",
        "icloud.com"
    ]}) -%}
{#- Deterministic links: two records with the same value are the same customer, no scoring. -#}
{%- do config.update({"deterministic_rules": {
        "credit_code": true,
        "erp_customer_code": true,
        "crm_account": true,
        "email_address": true,
        "mobile": true,
        "landline": false,
        "review_match": true
    }}) -%}
{#- Candidate pairs: records sharing one of these keys are compared; a key shared by more -#}
{#- records than max_block_size is too common to block on (work stays ~linear). -#}
{%- do config.update({"blocking": {
        "max_block_size": 400,
        "keys": [
            "name_prefix",
            "name_suffix",
            "name_exact",
            "phone",
            "email_domain",
            "address"
        ]
    }}) -%}
{#- Fellegi-Sunter: each comparison's level adds log2(m/u) to the pair's match weight -#}
{#- (m = P(level | same customer), u = P(level | different customers)); a missing value adds 0. -#}
{%- do config.update({"comparisons": {
        "name": {
            "levels": [
                {
                    "name": "exact",
                    "min_similarity": 1.0,
                    "m": 0.55,
                    "u": 0.002
                },
                {
                    "name": "high",
                    "min_similarity": 0.6,
                    "m": 0.25,
                    "u": 0.01
                },
                {
                    "name": "medium",
                    "min_similarity": 0.4,
                    "m": 0.12,
                    "u": 0.05
                },
                {
                    "name": "low",
                    "min_similarity": 0.0,
                    "m": 0.08,
                    "u": 0.938
                }
            ]
        },
        "city": {
            "levels": [
                {
                    "name": "same",
                    "m": 0.97,
                    "u": 0.05
                },
                {
                    "name": "different",
                    "m": 0.03,
                    "u": 0.95
                }
            ]
        },
        "phone": {
            "levels": [
                {
                    "name": "same",
                    "m": 0.6,
                    "u": 0.0005
                },
                {
                    "name": "different",
                    "m": 0.4,
                    "u": 0.9995
                }
            ]
        },
        "email": {
            "levels": [
                {
                    "name": "same_address",
                    "m": 0.3,
                    "u": 0.0001
                },
                {
                    "name": "same_company_domain",
                    "m": 0.5,
                    "u": 0.003
                },
                {
                    "name": "different",
                    "m": 0.2,
                    "u": 0.9969
                }
            ]
        },
        "address": {
            "levels": [
                {
                    "name": "high",
                    "min_similarity": 0.6,
                    "m": 0.8,
                    "u": 0.002
                },
                {
                    "name": "low",
                    "min_similarity": 0.0,
                    "m": 0.2,
                    "u": 0.998
                }
            ]
        },
        "contact_name": {
            "levels": [
                {
                    "name": "same",
                    "m": 0.3,
                    "u": 0.001
                },
                {
                    "name": "different",
                    "m": 0.7,
                    "u": 0.999
                }
            ]
        },
        "credit_code": {
            "levels": [
                {
                    "name": "same",
                    "m": 0.98,
                    "u": 1e-05
                },
                {
                    "name": "different",
                    "m": 0.001,
                    "u": 0.99999
                }
            ]
        }
    }}) -%}
{#- A pair links when its match weight reaches match_threshold; pairs within review_band of -#}
{#- the threshold go to identity.review_queue for a person. -#}
{%- do config.update({"match_threshold": 8.0}) -%}
{%- do config.update({"review_band": 4.0}) -%}
{#- Clustering links the strongest pairs first and refuses a merge that would put two valid -#}
{#- credit codes in one customer, or join two customers of large_cluster_records records or -#}
{#- more through a link weaker than large_merge_min_weight. -#}
{%- do config.update({"chain_guard": {
        "large_cluster_records": 20,
        "large_merge_min_weight": 14.0
    }}) -%}
{%- set overrides = var('identity', {}) -%}
{%- if overrides is mapping -%}{%- do config.update(overrides) -%}{%- endif -%}
{{- return(config) -}}
{%- endmacro %}

{#- The instant of this dbt run (CID assignment and event times; not now() in logic). -#}
{% macro identity_run_at() -%}
    '{{ run_started_at if run_started_at is defined else "1970-01-01 00:00:00+00:00" }}'::timestamptz
{%- endmacro %}
