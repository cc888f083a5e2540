/** The sample data set every test run generates once: 3 days, 9,000 events, 300 songs. */
export const SAMPLE = {
  start: '2018-11-01',
  days: 3,
  eventsPerDay: 3000,
  songs: 300,
  seed: 20181101,
} as const;

/** One well-formed event, as a log line holds it (a NextSong play from the original data set). */
export const SAMPLE_EVENT = {
  artist: "Des'ree",
  auth: 'Logged In',
  firstName: 'Kaylee',
  gender: 'F',
  itemInSession: 1,
  lastName: 'Summers',
  length: 246.30812,
  level: 'free',
  location: 'Phoenix-Mesa-Scottsdale, AZ',
  method: 'PUT',
  page: 'NextSong',
  registration: 1540344794796.0,
  sessionId: 139,
  song: 'You Gotta Be',
  status: 200,
  ts: 1541106106796,
  userAgent: '"Mozilla/5.0"',
  userId: '8',
};
