COPY raw_events FROM 's3://udacity-dend/log_data/2018/11/2018-11-15-events.json' IAM_ROLE 'arn:aws:iam::123456789012:role/sparkify-copy' REGION 'us-west-2'
           FORMAT AS JSON 's3://udacity-dend/log_json_path.json' TIMEFORMAT 'epochmillisecs' MAXERROR 0 COMPUPDATE OFF STATUPDATE OFF;
