import test from 'ava';
import { placesDiffer } from '../../../src/login/confirm/place-check.js';

test('two cities differ; one city is not another province; an unknown region says nothing', (t) => {
  t.true(placesDiffer('中国 江苏省 南京市', '中国 广东省 深圳市'));
  t.true(placesDiffer('中国 广东省 广州市', '中国 广东省 深圳市'), 'two cities of one province');
  t.true(placesDiffer('美国', '中国 广东省 深圳市'), 'two countries');
  t.false(placesDiffer('中国 广东省 深圳市', '中国 广东省 深圳市'));
  t.false(placesDiffer('中国 广东省', '中国 广东省 深圳市'), 'a network placed only to its province agrees as far as it goes');
  t.false(placesDiffer('', '中国 广东省 深圳市'), 'loopback or a private address');
  t.false(placesDiffer('中国 北京 北京市', ''));
});
