import { Ring } from './action-ring';

describe(Ring.name, () => {
  it('keeps the last items pushed, oldest first', () => {
    const sut = new Ring<number>(3);
    expect(sut.list()).toEqual([]);
    sut.push(1);
    sut.push(2);
    expect(sut.list()).toEqual([1, 2]);
    sut.push(3);
    expect(sut.list()).toEqual([1, 2, 3]);
    sut.push(4);
    expect(sut.list()).toEqual([2, 3, 4]);
    for (let i = 5; i <= 11; i++) sut.push(i);
    expect(sut.list()).toEqual([9, 10, 11]);
    expect(sut.size).toBe(3);
  });

  it('hands out copies: changing a list does not change the ring', () => {
    const sut = new Ring<number>(2);
    sut.push(1);
    sut.list().push(99);
    expect(sut.list()).toEqual([1]);
  });

  it('refuses a capacity that holds nothing', () => {
    expect(() => new Ring(0)).toThrow(/at least one item/);
    expect(() => new Ring(1.5)).toThrow(RangeError);
  });
});
