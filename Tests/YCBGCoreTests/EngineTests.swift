import Testing
@testable import YCBGCore

@Suite struct EngineTests {
    final class Item: TimerItem {
        var dueMs: Int64
        var heapIndex = -1
        init(_ due: Int64) { dueMs = due }
    }

    @Test func timerHeapPopsInDueOrderAndRemovesAnyItem() {
        var heap = TimerHeap<Item>()
        let items = [50, 10, 40, 30, 20, 60, 0].map { Item(Int64($0)) }
        items.forEach { heap.insert($0) }
        heap.remove(items[2]) // 40
        #expect(!heap.contains(items[2]) && items[2].heapIndex == -1)
        items[5].dueMs = 5 // 60 -> 5
        heap.update(items[5])
        var order: [Int64] = []
        while let item = heap.popFirst() { order.append(item.dueMs) }
        #expect(order == [0, 5, 10, 20, 30, 50])
    }

    @Test func fixedRateSpacesRequests() {
        var pacer = Pacer(createsPerSecond: 10, pollsPerSecond: 0)
        do { let ok = pacer.take(.create, nowMs: 1000); #expect(ok) }
        do { let ok = pacer.take(.create, nowMs: 1050); #expect(!ok) }
        #expect(pacer.nextTokenMs(.create, nowMs: 1050) == 1100)
        do { let ok = pacer.take(.create, nowMs: 1100); #expect(ok) }
        // Polls have no fixed limit and no 429 yet.
        for t in 0..<100 { let ok = pacer.take(.poll, nowMs: 1100 + Int64(t % 2)); #expect(ok) }
    }

    @Test func a429PausesTheKindThenHalvesItsRateAndGoodAnswersRaiseIt() {
        var pacer = Pacer(createsPerSecond: 0, pollsPerSecond: 0)
        for t in 0..<40 { let ok = pacer.take(.poll, nowMs: Int64(t * 25)); #expect(ok) } // 40 per second
        pacer.record(.poll, tooManyRequests: true, retryAfterMs: 500, nowMs: 1000)
        do { let ok = pacer.take(.poll, nowMs: 1400); #expect(!ok) }             // paused for Retry-After
        do { let ok = pacer.take(.create, nowMs: 1400); #expect(ok) }            // other kinds are not
        do { let ok = pacer.take(.poll, nowMs: 1500); #expect(ok) }              // one at the end of the pause
        do { let ok = pacer.take(.poll, nowMs: 1501); #expect(!ok) }             // then the halved rate
        do { let ok = pacer.take(.poll, nowMs: 1500 + 1000 / 20 + 1); #expect(ok) }
        // A blocking call is held by the pause only.
        do { let ok = pacer.take(.poll, nowMs: 1552, adaptive: false); #expect(ok) }
        for i in 0..<2000 { pacer.record(.poll, tooManyRequests: false, retryAfterMs: nil, nowMs: 2000 + Int64(i)) }
        // Above the 40 per second it had before the 429: two requests 20 ms apart.
        let a = pacer.take(.poll, nowMs: 5000), b = pacer.take(.poll, nowMs: 5020)
        #expect(a && b)
    }
}
